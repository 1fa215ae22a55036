"""Spec suites: the suite runner, stored counterexamples, the pytest plugin.

May import every package of verifier but verifier.cli.
"""
