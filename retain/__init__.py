"""retain: customer lifetime value and churn prediction from transactions and customer-service interactions."""
