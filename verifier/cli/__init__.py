"""The `tlbcheck` command, one module per subcommand.

The top of the pipeline: may import any other package of verifier.
"""
