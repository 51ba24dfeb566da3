import multiprocessing

# first: in a packaged build, a helper process (import, index rebuild) starts here and must
# run its task before the app's own imports
multiprocessing.freeze_support()

from app.launcher import main  # noqa: E402

raise SystemExit(main())
