#pragma once

#include "pg/connection.hpp"

#include <string>

namespace migrate_init::pg {

// Ends every session of this database whose application_name starts with `tag_prefix`
// and that logged in as this connection's session_user (other than this connection): what
// is still there after 300 ms (the server ending the sessions of a client that just exited)
// has its running statement cancelled, and what is still there 2 s later is terminated;
// returns once none is left (or after 10 s, saying so). Tagged sessions of other roles are
// not provably the migrator's (anyone may choose an application_name): each is named in a
// warning, once, and left alone; so is one this role may not signal. A killed client does
// not stop its statement on the server, so a migrator that exited, or was killed, can leave
// a backend that still runs its DDL and holds its locks: the migration lock is released
// only after this. `whose` names them in the log ("the migrator's"). Returns how many of this role's sessions were found.
int end_tagged_sessions(Connection& connection, const std::string& tag_prefix, const std::string& whose);

} // namespace migrate_init::pg
