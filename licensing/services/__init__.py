"""Use cases: keyword-only functions that load, decide through the domain, persist, commit once."""
