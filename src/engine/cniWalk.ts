// A pod's CNI ADD or DEL as a walk: instead of a packet, the steps the runtime and the CNI plugins take to
// give a pod its network (or take it away), each as the command a person would type and the namespaces it
// changed. The steps are cni.ts's cniAddSteps / cniDelSteps — the very ops the world's build applies for
// every pod — run one by one on a stage world of the walk's own, so the picture can grow step by step.
//
//   from: cni/add   to: pod/<ns>/<name>    the world without the pod → the pod with eth0, address, routes
//   from: cni/del   to: pod/<ns>/<name>    the world with the pod → the pod's namespace gone
//
// The caller's world is never changed: an ADD's stage is built from the scenario less the pod (what the node
// had before the pod was scheduled there), a DEL's from the whole scenario.
import {
  cniAddSteps,
  cniDelSteps,
  nodeNetns,
  planWorld,
  podNetns,
  sandboxNetnsName,
  type CniStep,
} from './cni.ts';
import { opCommands, type CommandNames } from './lab.ts';
import type { NetOp, NetnsId } from './netops.ts';
import { TRACE_FORMAT_VERSION, type Trace, type TraceEvent, type Verdict } from './trace.ts';
import { netnsView } from './viewOf.ts';
import { applyOp, EngineError, World } from './world.ts';
import type { WalkSpec } from './walk.ts';
import type { ClusterModel, NodeModel, PodModel } from '../scenario/model.ts';

export type CniCommand = 'ADD' | 'DEL';

/** The CNI command a walk's `from` names (`cni/add`, `cni/del`, any case), or null for a packet walk. */
export function cniCommandOf(from: string): CniCommand | null {
  const m = /^cni\/(add|del)$/i.exec(from.trim());
  return m ? (m[1]!.toUpperCase() as CniCommand) : null;
}

interface CniSubject {
  readonly model: ClusterModel;
  readonly pod: PodModel;
  readonly node: NodeModel;
}

/** The pod a CNI walk is about: `pod/<ns>/<name>` or a pod name only one namespace has. Throws EngineError. */
function subjectOf(world: World, spec: WalkSpec): CniSubject {
  const model = world.model;
  if (!model) throw new EngineError('a CNI walk needs a world built from a scenario');
  const text = spec.to.trim();
  const parts = text.split('/');
  const pods =
    parts.length === 3 && parts[0] === 'pod'
      ? model.pods.filter((p) => p.namespace === parts[1] && p.name === parts[2])
      : parts.length === 1
        ? model.pods.filter((p) => p.name === text)
        : [];
  if (pods.length !== 1)
    throw new EngineError(
      pods.length > 1
        ? `"${text}" names pods in several namespaces: write pod/<namespace>/${text}`
        : `"${text}" is not a pod of this scenario (a CNI walk goes to pod/<namespace>/<name>)`,
    );
  const pod = pods[0]!;
  if (pod.hostNetwork)
    throw new EngineError(
      `${pod.namespace}/${pod.name} uses the node's network (hostNetwork): CNI is never called for it`,
    );
  const node = model.nodes.find((n) => n.name === pod.nodeName);
  if (!node)
    throw new EngineError(`${pod.namespace}/${pod.name}'s node ${pod.nodeName} is not in the scenario`);
  return { model, pod, node };
}

/** The scenario as the node had it before the pod came: the same, less the pod. */
function withoutPod(model: ClusterModel, pod: PodModel): ClusterModel {
  return { ...model, pods: model.pods.filter((p) => p !== pod) };
}

function stageOf(world: World, model: ClusterModel): World {
  return new World(model.name, model.description, world.cni, planWorld(model), model);
}

/**
 * The world a walk starts in, for viewers: for a CNI ADD the world without the pod (it gets its network as
 * the walk goes); for every other walk the world itself.
 */
export function startWorld(world: World, spec: WalkSpec): World {
  if (cniCommandOf(spec.from) !== 'ADD') return world;
  const { model, pod } = subjectOf(world, spec);
  return stageOf(world, withoutPod(model, pod));
}

/** Walks a pod's CNI ADD or DEL: one `cni` event per step, then the verdict (see the module comment). */
export function cniWalk(world: World, spec: WalkSpec, onEvent?: (e: TraceEvent) => void): Trace {
  const command = cniCommandOf(spec.from);
  if (!command) throw new EngineError(`"${spec.from}" is not a CNI walk (cni/add or cni/del)`);
  const { model, pod, node } = subjectOf(world, spec);
  const nodeNs = nodeNetns(node.name);
  const podNs = podNetns(pod);
  const others = model.pods.some((p) => p !== pod && !p.hostNetwork && p.nodeName === node.name);
  const stage = stageOf(world, command === 'ADD' ? withoutPod(model, pod) : model);
  stage.netns(nodeNs); // the node's unit, as it is before the first step
  const steps: CniStep[] =
    command === 'ADD' ? cniAddSteps(model, node, pod, !others) : cniDelSteps(model, node, pod);

  // Commands as typed in the node's shell: its root namespace is the shell's own (`netns 1` names it from
  // inside another), the pod's is containerd's cni-… name.
  const netnsName = sandboxNetnsName(pod);
  const names: CommandNames = {
    run: (id) => (id === nodeNs ? null : id === podNs ? netnsName : id),
    ref: (id) => (id === nodeNs ? '1' : id === podNs ? netnsName : id),
  };

  const events: TraceEvent[] = [];
  const emit = (e: TraceEvent): void => {
    events.push(e);
    onEvent?.(e);
  };
  const where = (netns: NetnsId) => ({ node: node.name, netns });
  for (const step of steps) {
    if (step.op === null) {
      emit({
        type: 'cni',
        seq: events.length,
        leg: 0,
        at: where(step.netns),
        command,
        actor: step.actor,
        op: null,
        shell: step.command,
        text: step.text,
        why: step.why,
        source: step.source,
        state: [],
      });
      continue;
    }
    const op = step.op;
    const touched = touchedBy(stage, op);
    if (op.op === 'netns-add')
      stage.createNetns({
        id: podNs,
        kind: 'pod',
        node: node.name,
        label: `${pod.namespace}/${pod.name}`,
        listen: pod.ports.length ? pod.ports.map((p) => p.containerPort) : 'any',
      });
    applyOp(stage, op);
    emit({
      type: 'cni',
      seq: events.length,
      leg: 0,
      at: where(op.netns),
      command,
      actor: step.actor,
      op,
      shell: opCommands(op, names).join('\n'),
      text: op.op === 'file-write' ? op.content : null,
      why: op.why,
      source: step.source,
      state: touched.map((id) => {
        const ns = stage.hasBuilt(id) ? stage.netns(id) : null;
        return { netns: id, view: ns ? netnsView(ns, false).view : null };
      }),
    });
  }

  const prefix = node.podCIDR.prefix;
  const verdict: Verdict =
    command === 'ADD'
      ? {
          kind: 'configured',
          at: where(podNs),
          reason: `eth0 ${pod.podIP}/${prefix}, default via ${
            stage
              .netns(podNs)
              .main.routes()
              .find((r) => r.dst.prefix === 0)?.gateway ?? '?'
          }`,
        }
      : {
          kind: 'removed',
          at: where(nodeNs),
          reason: `${pod.namespace}/${pod.name}'s network namespace is gone and ${pod.podIP} is free again`,
        };
  emit({ type: 'verdict', seq: events.length, leg: 0, verdict, packet: null });
  return {
    version: TRACE_FORMAT_VERSION,
    from: spec.from,
    to: spec.to,
    flow: null,
    cni: { command, pod: `${pod.namespace}/${pod.name}`, node: node.name, ip: pod.podIP },
    seed: spec.seed ?? 1,
    events,
    legs: [{ kind: command === 'ADD' ? 'cni-add' : 'cni-del', verdict }],
  };
}

/** The namespaces an op changes: its own, a veth's other end, and the namespaces of the peers of the veths
 *  a deleted namespace takes with it. Read before the op is applied. */
function touchedBy(stage: World, op: NetOp): NetnsId[] {
  const out = [op.netns];
  if (op.op === 'link-add-veth') out.push(op.peerNetns);
  if (op.op === 'link-del') {
    const d = stage.netns(op.netns).devices.get(op.name);
    if (d?.kind === 'veth') out.push(d.peer.netns);
  }
  if (op.op === 'netns-del')
    for (const d of stage.netns(op.netns).devices.values()) if (d.kind === 'veth') out.push(d.peer.netns);
  return [...new Set(out)];
}
