from dockml.cli import main

raise SystemExit(main())
