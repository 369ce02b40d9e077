"""Adapters between the domain and the outside: database models, queries, payment provider."""
