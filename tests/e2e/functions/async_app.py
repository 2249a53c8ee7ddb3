import asyncio

loops = []


async def handler(event, context):
    await asyncio.sleep(0)
    loops.append(id(asyncio.get_running_loop()))
    return {"distinct_loops": len(set(loops)), "invocations": len(loops)}


async def fails(event, context):
    await asyncio.sleep(0)
    raise ValueError("async boom")


def returns_coroutine(event, context):
    return handler(event, context)
