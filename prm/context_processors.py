from prm.models import STAFF_ROLES


def portal(request) -> dict:
    """The tenant and the signed-in member's role, for the branded base template."""
    membership = getattr(request, "membership", None)
    return {
        "tenant": getattr(request, "tenant", None),
        "membership": membership,
        "is_staff_member": bool(membership and membership.role in STAFF_ROLES),
    }
