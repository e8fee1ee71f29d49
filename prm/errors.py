from django.shortcuts import render


def not_found(request, exception=None):
    """A plain 404 that names nothing: used for unknown hosts and for other tenants' objects alike."""
    return render(request, "404.html", status=404)
