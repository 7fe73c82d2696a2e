#!/usr/bin/env python3
"""Writes N small migrations (migration i: CREATE TABLE t_i) in each tool's own layout:

  WORK/setN      dbmate's layout (-- migrate:up / -- migrate:down), read by migrate-init too
  WORK/plainN    plain numbered .sql files, for bench/seed.sh
  WORK/alembicN  an Alembic project: one revision per migration (op.execute of the same
                 SQL), a linear down_revision chain, a transaction per revision
  WORK/sqitchN   a sqitch project: sqitch.plan and deploy/revert scripts

  make_sets.py N WORK
"""
import os
import sys

ALEMBIC_INI = """[alembic]
script_location = %(here)s
"""

# The database URL comes from ALEMBIC_URL (postgresql+psycopg2://user:password@host:port/db).
ALEMBIC_ENV = """import os

from alembic import context
from sqlalchemy import create_engine, pool

engine = create_engine(os.environ["ALEMBIC_URL"], poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
"""

ALEMBIC_REVISION = '''"""table {i}"""
from alembic import op

revision = "{version}"
down_revision = {down}
branch_labels = None
depends_on = None


def upgrade():
    op.execute("{up}")


def downgrade():
    op.execute("{down_sql}")
'''

SQITCH_CONF = """[core]
\tengine = pg
\ttop_dir = .
\tplan_file = sqitch.plan
[user]
\tname = Bench
\temail = bench@example.com
"""


def write(path, text):
    with open(path, "w") as out:
        out.write(text)


def main():
    count, work = int(sys.argv[1]), sys.argv[2]
    dirs = {name: os.path.join(work, f"{name}{count}") for name in ("set", "plain", "alembic", "sqitch")}
    for name in ("set", "plain"):
        os.makedirs(dirs[name], exist_ok=True)
    os.makedirs(os.path.join(dirs["alembic"], "versions"), exist_ok=True)
    for sub in ("deploy", "revert"):
        os.makedirs(os.path.join(dirs["sqitch"], sub), exist_ok=True)
    write(os.path.join(dirs["alembic"], "alembic.ini"), ALEMBIC_INI)
    write(os.path.join(dirs["alembic"], "env.py"), ALEMBIC_ENV)
    write(os.path.join(dirs["sqitch"], "sqitch.conf"), SQITCH_CONF)
    plan = ["%syntax-version=1.0.0", "%project=bench", ""]
    for i in range(1, count + 1):
        version = f"{i:05d}"
        up = f"CREATE TABLE t_{version} (id bigint PRIMARY KEY, note text);"
        down = f"DROP TABLE t_{version};"
        write(os.path.join(dirs["set"], f"{version}_table_{i}.sql"), f"-- migrate:up\n{up}\n\n-- migrate:down\n{down}\n")
        write(os.path.join(dirs["plain"], f"{version}_table_{i}.sql"), up + "\n")
        write(os.path.join(dirs["alembic"], "versions", f"{version}_table_{i}.py"),
              ALEMBIC_REVISION.format(i=i, version=version, down=f'"{i - 1:05d}"' if i > 1 else "None",
                                      up=up, down_sql=down))
        write(os.path.join(dirs["sqitch"], "deploy", f"t_{version}.sql"), f"BEGIN;\n{up}\nCOMMIT;\n")
        write(os.path.join(dirs["sqitch"], "revert", f"t_{version}.sql"), f"BEGIN;\n{down}\nCOMMIT;\n")
        plan.append(f"t_{version} 2026-01-01T00:00:00Z Bench <bench@example.com> # table {i}")
    write(os.path.join(dirs["sqitch"], "sqitch.plan"), "\n".join(plan) + "\n")


if __name__ == "__main__":
    main()
