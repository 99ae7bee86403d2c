from ssoexec.cli import main

main()
