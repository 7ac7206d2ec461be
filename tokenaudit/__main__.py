from tokenaudit.cli import main

main()
