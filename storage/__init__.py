"""Everything that touches the database: tables, sessions, queries and migrations."""
