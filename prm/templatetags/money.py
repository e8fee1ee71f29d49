"""`{% load money %}{{ amount|money:currency }}`: an amount as the reader's language writes it (prm.money);
without a currency, the tenant's."""

from django import template

from prm.money import money as format_money

register = template.Library()


@register.filter
def money(amount, currency=None):
    return format_money(amount, currency)
