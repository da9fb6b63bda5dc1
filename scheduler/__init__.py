"""Time-driven work. The database is the source of truth; jobs are derived from it with explicit ids,
so a restart neither loses nor doubles anything."""
