"""The embedded viewer: sources into a chunk store, views over it, a time panel driving them all."""
