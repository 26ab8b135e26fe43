def slugify(text):
    return "-".join(text.lower().split())


def truncate(text, width):
    return text if len(text) <= width else text[: width - 1] + "..."
