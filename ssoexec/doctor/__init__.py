"""`ssoexec doctor`, one module a check: report.py runs them and prints what they found."""
