"""Runs corpus cases in one fresh interpreter and reports exit codes, stderr, imports.

A separate process is the only honest way to tell whether a command imported an
AWS SDK (and so could have made a call): the test process imports them itself.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys


def main() -> None:
    from ecsdeploy.cli import main as cli_main

    cases = json.loads(sys.stdin.read())
    results = {}
    for case in cases:
        os.chdir(case["cwd"])
        err = io.StringIO()
        code = None
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                cli_main(case["argv"])
            except SystemExit as exc:
                code = exc.code
        results[case["id"]] = {
            "code": code,
            "stderr": err.getvalue(),
            "aws_loaded": [m for m in ("boto3", "botocore") if m in sys.modules],
        }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
