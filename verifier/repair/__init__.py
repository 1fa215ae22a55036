"""`tlbcheck repair`: from a counterexample to the smallest change that verifies.

`space` is the table of edits kernel fixes are made of, `edits` applies them to
the AST and to the user's text, `guide` orders candidates by the
counterexample's trace, `search` checks them with the engines (through
`verifier.api`) and `rank` orders the fixes by size and cost.
"""
