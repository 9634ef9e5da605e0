/**
 * The fast path of response validation. valibot's parse builds a new object for every record it
 * checks (most of the SDK's CPU on a large listing); for the schema shapes the endpoints use, a JSON
 * body that conforms would come out equal to what went in. So a schema is compiled once into a
 * plain predicate that checks the parsed body where it lies, and a body that passes is handed on
 * unchanged. Anything the predicate does not accept, and any schema it cannot compile (a pipe, a
 * default, a fallback, a strict object that would drop keys), goes through valibot, which decides
 * and words the issues. The predicate never accepts what valibot would refuse.
 */

/** Whether a value conforms; true means valibot would return an equal value. */
type Check = (value: unknown) => boolean;

/** The parts of a valibot schema the compiler reads. */
interface SchemaNode {
  type: string;
  pipe?: unknown;
  default?: unknown;
  fallback?: unknown;
  wrapped?: SchemaNode;
  item?: SchemaNode;
  entries?: Record<string, SchemaNode>;
  check?: (value: unknown) => boolean;
}

const compiled = new WeakMap<object, Check | null>();

/** The in-place check for `schema`, or undefined when only valibot can judge it. Cached per schema. */
export function fastCheck(schema: object): Check | undefined {
  let check = compiled.get(schema);
  if (check === undefined) {
    check = compile(schema as SchemaNode) ?? null;
    compiled.set(schema, check);
  }
  return check ?? undefined;
}

// Keys valibot leaves out of the objects it builds; an object that has one goes through valibot.
const unsafeKey = (object: object) =>
  Object.hasOwn(object, '__proto__') ||
  Object.hasOwn(object, 'constructor') ||
  Object.hasOwn(object, 'prototype');

function compile(node: SchemaNode): Check | undefined {
  // A pipe may transform or add checks, a default or fallback replaces a value: valibot's job.
  if (node.pipe !== undefined || node.default !== undefined || node.fallback !== undefined) return undefined;
  switch (node.type) {
    case 'string':
      return (x) => typeof x === 'string';
    case 'number':
      return (x) => typeof x === 'number' && !Number.isNaN(x);
    case 'boolean':
      return (x) => typeof x === 'boolean';
    case 'unknown':
      return () => true;
    case 'custom':
      return node.check;
    case 'nullish':
    case 'optional':
    case 'nullable': {
      const inner = node.wrapped && compile(node.wrapped);
      if (!inner) return undefined;
      if (node.type === 'nullish') return (x) => x === undefined || x === null || inner(x);
      if (node.type === 'optional') return (x) => x === undefined || inner(x);
      return (x) => x === null || inner(x);
    }
    case 'array': {
      const item = node.item && compile(node.item);
      if (!item) return undefined;
      return (x) => {
        if (!Array.isArray(x)) return false;
        for (let i = 0; i < x.length; i++) if (!item(x[i])) return false;
        return true;
      };
    }
    case 'loose_object': {
      const keys: string[] = [];
      const checks: Check[] = [];
      for (const [key, entry] of Object.entries(node.entries ?? {})) {
        const check = compile(entry);
        if (!check) return undefined;
        keys.push(key);
        checks.push(check);
      }
      return (x) => {
        if (typeof x !== 'object' || x === null || Array.isArray(x) || unsafeKey(x)) return false;
        const object = x as Record<string, unknown>;
        // An absent key reads as undefined: accepted by optional entries, refused by required ones.
        for (let i = 0; i < keys.length; i++) if (!checks[i]!(object[keys[i]!])) return false;
        return true;
      };
    }
    default:
      return undefined;
  }
}
