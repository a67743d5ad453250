"""Domain actions (writes). Views, tasks and commands call these; reads live in selectors."""
