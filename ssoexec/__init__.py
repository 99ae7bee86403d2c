"""ssoexec: run a command with short-lived AWS IAM Identity Center credentials."""

__version__ = "0.1.0"
