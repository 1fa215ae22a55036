"""The z3 engine: entry point (`engine.check_smt`), encoding (`encode`), bounded model
checking and k-induction (`bmc`), inductive invariants (`prove`, `invariants`).  The only
package that imports z3.

May import the layers below it, verifier.search included (`prove` enumerates reachable
states with the explicit search).
"""
