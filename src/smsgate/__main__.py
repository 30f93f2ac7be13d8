from smsgate.cli import main

main()
