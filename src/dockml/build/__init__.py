"""`dockml build`: a small, hardened Docker image for served models.

plan (compile models, pin requirements)  ->  BuildSpec
render_dockerfile(spec) -> str                pure, snapshot-tested
write_context(spec, folder)                   the files docker build reads
docker_build(folder, tag, ...)                runs docker with an argv list, streams its output
"""
