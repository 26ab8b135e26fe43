from rtk_lsp.cli import main

raise SystemExit(main())
