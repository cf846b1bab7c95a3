"""`python -m eval …`: the evaluations' command line (eval/cli.py)."""

from eval.cli import app

app(prog_name="python -m eval")
