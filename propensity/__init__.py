"""Purchase propensity: will this customer buy in the next 30 days? (see docs/propensity.md)"""
