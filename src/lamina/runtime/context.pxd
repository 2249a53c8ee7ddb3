# Makes the classes of context.py extension types when Cython compiles it: attribute storage
# in the object itself, no instance dict, cheap construction on every invocation.

cdef class CognitoIdentity:
    cdef public object cognito_identity_id
    cdef public object cognito_identity_pool_id

cdef class Client:
    cdef public object installation_id
    cdef public object app_title
    cdef public object app_version_name
    cdef public object app_version_code
    cdef public object app_package_name

cdef class ClientContext:
    cdef public object client
    cdef public object custom
    cdef public object env

cdef class Context:
    cdef public object aws_request_id
    cdef public object function_name
    cdef public object function_version
    cdef public object invoked_function_arn
    cdef public object memory_limit_in_mb
    cdef public object log_group_name
    cdef public object log_stream_name
    cdef public object client_context
    cdef public object identity
    cdef public object tenant_id
    cdef public long long _deadline_ms
    cdef object _w3c
