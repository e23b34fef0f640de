from landslide_utils.cli import main

raise SystemExit(main())
