"""The engines over a System (explicit search, z3) and the Result/Trace they return.

May import verifier.lang, verifier.ir and verifier.machine.
"""
