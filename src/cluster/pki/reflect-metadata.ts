// The Reflect metadata API that @peculiar/x509 needs: its dependency tsyringe refuses to
// load without Reflect.getMetadata (normally supplied by the reflect-metadata package).
// The library's classes are built without emitDecoratorMetadata, so tsyringe only ever
// reads empty metadata; this small WeakMap store covers that without a second dependency.
// Import this module before '@peculiar/x509' (src/cluster/pki/x509.ts does).

type Key = string | symbol | undefined;
type Table = Map<unknown, unknown>;

const store = new WeakMap<object, Map<Key, Table>>();

function table(target: object, property: Key, create: boolean): Table | undefined {
  let byProperty = store.get(target);
  if (!byProperty && create) store.set(target, (byProperty = new Map()));
  let entries = byProperty?.get(property);
  if (!entries && create && byProperty) byProperty.set(property, (entries = new Map()));
  return entries;
}

function defineMetadata(key: unknown, value: unknown, target: object, property?: Key): void {
  table(target, property, true)!.set(key, value);
}

function getOwnMetadata(key: unknown, target: object, property?: Key): unknown {
  return table(target, property, false)?.get(key);
}

function hasOwnMetadata(key: unknown, target: object, property?: Key): boolean {
  return table(target, property, false)?.has(key) ?? false;
}

// Metadata is inherited along the prototype chain, as in reflect-metadata.
function getMetadata(key: unknown, target: object, property?: Key): unknown {
  for (let t: object | null = target; t; t = Object.getPrototypeOf(t) as object | null) {
    if (hasOwnMetadata(key, t, property)) return getOwnMetadata(key, t, property);
  }
  return undefined;
}

function metadata(key: unknown, value: unknown) {
  return (target: object, property?: Key): void => defineMetadata(key, value, target, property);
}

const reflect = Reflect as unknown as Record<string, unknown>;
if (typeof reflect.getMetadata !== 'function') {
  Object.assign(reflect, { defineMetadata, getOwnMetadata, hasOwnMetadata, getMetadata, metadata });
}
