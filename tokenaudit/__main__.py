from tokenaudit._entry import main

main()
