#pragma once

#include "config.hpp"
#include "pipeline/session.hpp"
#include "sql_files/discovery.hpp"

namespace migrate_init {

// The .sql engine's files and the run's connection.
struct FilesAndSession {
  MigrationSet files;
  Session session;
};

// Checksums the listed files on another thread while this one connects: a start with a
// thousand files spends about as long opening them as connecting (bench/static.sh, (b)).
// For the user it is as if the files were checksummed first, but for the start line
// ("connecting to ..."), which may come before a file's error:
// - a file's error ends the wait for the database at once (a database that is down, or
//   a long AUTO_MIGRATE_WAIT, does not delay it), and wins over the connection's own
//   failure (unreachable, refused, a bad password);
// - the files are all checksummed before the connection is returned, so no query is sent
//   until then.
// A stop signal still ends the wait with Interrupted. With fewer than 64 files (a thread
// costs more than it saves), or without a thread to be had, the files are checksummed
// first, then the connection is made, as load_migrations() does.
FilesAndSession checksum_while_connecting(const Config& config, MigrationListing listing);

} // namespace migrate_init
