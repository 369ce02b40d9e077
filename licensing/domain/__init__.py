"""Pure business rules: no Flask, no database, no Stripe; time is always a parameter."""
