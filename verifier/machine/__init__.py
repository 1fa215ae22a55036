"""The machine's rules, written once: a Program becomes a System.

May import verifier.lang and verifier.ir.
"""
