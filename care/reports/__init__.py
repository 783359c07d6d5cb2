"""The owner's report: measures of the relationship over a period, and the weekly digest."""
