"""Staff accounts: who may sign in to the staff pages (console, insights) and what each role may
do. Plain service functions (:mod:`bot.staff.accounts`) used by the command line
(:mod:`bot.staff.cli`) and the web sign-in (:mod:`bot.web.staff`). See docs/staff.md."""
