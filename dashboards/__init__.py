"""Open Weights Tracker dashboards: queries and metrics over the store, figures, pages and exports."""
