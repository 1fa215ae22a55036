"""The lowered program and the transition-system IR (Program, System).

May import verifier.lang only.
"""
