def install_defaults_after_migrate(sender, **kwargs) -> None:
    from django.db import connections

    from hotline.catalog.services import install_defaults

    using = kwargs.get("using", "default")
    if "catalog_businesstype" in connections[using].introspection.table_names():
        install_defaults()
