"""The member app's pages under /m/ (mobile first): login by SMS code, coverage, claims, bank card.

Not a Django app: views, urls and services only; the models they use live in the capability
apps (members, enrollment, plans, claims).
"""
