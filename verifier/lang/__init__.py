"""The language: text -> AST -> checked spec; imports nothing else of verifier."""
