from stackwise.cli import main

raise SystemExit(main())
