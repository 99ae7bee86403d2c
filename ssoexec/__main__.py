from ssoexec.entry import main

main()
