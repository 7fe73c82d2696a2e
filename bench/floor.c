/* The floor a migration entrypoint is measured against: the least a no-op start-up can
 * do with libpq. Connect, take the advisory lock, read the ledger once, unlock,
 * disconnect. With --hash DIR it also reads and SHA-256-hashes every file of DIR, as a
 * start-up that verifies checksums must.
 *   floor CONNINFO [--hash DIR]                                                  */
#include <dirent.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(PGconn *conn, PGresult *res) {
  if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
    fprintf(stderr, "floor: %s", PQerrorMessage(conn));
    exit(1);
  }
  PQclear(res);
}

static void hash_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) { perror(dir); exit(1); }
  struct dirent *entry;
  char path[4096];
  static char buffer[1 << 20];
  unsigned char digest[32];
  unsigned int length;
  while ((entry = readdir(d))) {
    if (entry->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
    FILE *f = fopen(path, "rb");
    if (!f) continue;
    size_t n = fread(buffer, 1, sizeof buffer, f);
    fclose(f);
    EVP_Digest(buffer, n, digest, &length, EVP_sha256(), NULL);
  }
  closedir(d);
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: floor CONNINFO [--hash DIR]\n"); return 2; }
  if (argc == 4 && strcmp(argv[2], "--hash") == 0) hash_dir(argv[3]);
  PGconn *conn = PQconnectdb(argv[1]);
  if (PQstatus(conn) != CONNECTION_OK) { fprintf(stderr, "floor: %s", PQerrorMessage(conn)); return 1; }
  check(conn, PQexec(conn, "SELECT pg_try_advisory_lock(42)"));
  check(conn, PQexec(conn, "SELECT version, checksum FROM schema_migrations"));
  check(conn, PQexec(conn, "SELECT pg_advisory_unlock(42)"));
  PQfinish(conn);
  return 0;
}
