"""Register every capability's Ninja router on the API (import side effects, one place)."""
