// Validates the Backstage catalog paved rendered into a fleet with
// Backstage's own @backstage/catalog-model, applied as the catalog backend
// applies it to every entity it reads: the entity policies (schema, default
// namespace, no foreign root fields, field formats), then the validator of
// the entity's kind, as the built-in kinds processor runs them. Then every
// reference an entity makes (owner, system, dependsOn, a Group's parent and
// children) must name an entity of the catalog, or one given with --known,
// and the Location (all.yaml) must list exactly the entity files.
//
//   node check.mjs FLEET/catalog [--known system:default/shop ...]
//
// Exit 0 when every entity passes; 1 with one line per problem otherwise.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  EntityPolicies,
  SchemaValidEntityPolicy,
  DefaultNamespaceEntityPolicy,
  NoForeignRootFieldsEntityPolicy,
  FieldFormatEntityPolicy,
  componentEntityV1alpha1Validator,
  groupEntityV1alpha1Validator,
  locationEntityV1alpha1Validator,
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';

const args = process.argv.slice(2);
const dir = args[0];
const known = new Set();
for (let i = 1; i < args.length; i++) {
  if (args[i] === '--known' && i + 1 < args.length) {
    known.add(args[++i]);
  } else {
    console.error(`check.mjs: unknown argument ${args[i]}`);
    process.exit(2);
  }
}
if (!dir) {
  console.error('usage: node check.mjs CATALOG_DIR [--known KIND:NAMESPACE/NAME ...]');
  process.exit(2);
}

// What the catalog backend's processing engine applies to every entity.
const policy = EntityPolicies.allOf([
  new SchemaValidEntityPolicy(),
  new DefaultNamespaceEntityPolicy(),
  new NoForeignRootFieldsEntityPolicy(),
  new FieldFormatEntityPolicy(),
]);
const validators = [componentEntityV1alpha1Validator, groupEntityV1alpha1Validator, locationEntityV1alpha1Validator];

function files(d) {
  const out = [];
  for (const name of readdirSync(d).sort()) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (name.endsWith('.yaml')) out.push(p);
  }
  return out;
}

const problems = [];
const entities = []; // {file, entity}
for (const file of files(dir)) {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  if (docs.length !== 1) problems.push(`${file}: ${docs.length} documents, want one entity per file`);
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      problems.push(`${file}: ${doc.errors.map(e => e.message).join('; ')}`);
      continue;
    }
    const raw = doc.toJS();
    let entity;
    try {
      entity = await policy.enforce(raw);
      if (!entity) throw new Error('rejected by the entity policies');
      let claimed = false;
      for (const v of validators) {
        if (await v.check(entity)) claimed = true;
      }
      if (!claimed) throw new Error(`no built-in validator accepts kind ${entity.kind} of ${entity.apiVersion}`);
    } catch (e) {
      problems.push(`${file}: ${e.message}`);
      continue;
    }
    entities.push({ file, entity });
  }
}

// References resolve as the catalog resolves them: relative to the
// entity's namespace, with the kind the field implies.
const refs = new Set(known);
for (const { entity } of entities) refs.add(stringifyEntityRef(entity));
const resolve = (file, entity, field, ref, defaultKind) => {
  let target;
  try {
    target = stringifyEntityRef(parseEntityRef(ref, { defaultKind, defaultNamespace: entity.metadata.namespace }));
  } catch (e) {
    problems.push(`${file}: ${field} ${JSON.stringify(ref)}: ${e.message}`);
    return;
  }
  if (!refs.has(target)) problems.push(`${file}: ${field} ${JSON.stringify(ref)} names ${target}, which is neither in the catalog nor known`);
};
let location;
for (const { file, entity } of entities) {
  const s = entity.spec ?? {};
  switch (entity.kind) {
    case 'Component':
      resolve(file, entity, 'spec.owner', s.owner, 'Group');
      if (s.system) resolve(file, entity, 'spec.system', s.system, 'System');
      for (const d of s.dependsOn ?? []) resolve(file, entity, 'spec.dependsOn', d, undefined);
      break;
    case 'Group':
      if (s.parent) resolve(file, entity, 'spec.parent', s.parent, 'Group');
      for (const c of s.children ?? []) resolve(file, entity, 'spec.children', c, 'Group');
      break;
    case 'Location':
      if (location) problems.push(`${file}: a second Location (the first is ${location.file})`);
      location = { file, entity };
      break;
  }
}
if (!location) {
  problems.push(`${dir}: no Location entity`);
} else {
  const listed = (location.entity.spec.targets ?? []).slice().sort();
  const present = entities.filter(e => e !== location && e.file !== location.file)
    .map(e => './' + relative(dir, e.file).split('\\').join('/')).sort();
  if (JSON.stringify(listed) !== JSON.stringify(present)) {
    problems.push(`${location.file}: targets ${JSON.stringify(listed)}, want exactly the entity files ${JSON.stringify(present)}`);
  }
}
for (const p of problems) console.log(p);
const kinds = {};
for (const { entity } of entities) kinds[entity.kind] = (kinds[entity.kind] ?? 0) + 1;
console.log(`catalog-model ${JSON.parse(readFileSync(new URL('./node_modules/@backstage/catalog-model/package.json', import.meta.url))).version}: ${entities.length} entities (${Object.entries(kinds).map(([k, n]) => `${n} ${k}`).join(', ')}), ${problems.length} problems`);
process.exit(problems.length > 0 ? 1 : 0);
