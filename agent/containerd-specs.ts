// containerd's Containers service over its gRPC socket, for the one thing ctr
// 1.6 cannot do: run a container's process as a given uid/gid. `ctr run` has
// no user flag, and `ctr run --config FILE` takes a whole OCI spec and then
// ignores the image, its snapshot and every other flag. So a container that
// needs a user is created with `ctr containers create` (all the usual flags),
// its stored spec gets the user here (Containers.Update, mask "spec"), and its
// task is started with `ctr tasks start`. Only Get and Update are declared.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { BrambleError } from '../proto/util/errors.js';
import { realClock, type Clock } from '../proto/util/clock.js';

export type OciSpec = Record<string, unknown>;

export interface SpecEditor {
  /** Replaces the OCI spec of a created, not yet started container with edit(spec). */
  editSpec(id: string, edit: (spec: OciSpec) => OciSpec): Promise<void>;
}

const SERVICE = 'containerd.services.containers.v1';

const DESCRIPTOR = {
  nested: {
    google: {
      nested: {
        protobuf: {
          nested: {
            Any: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
            FieldMask: { fields: { paths: { rule: 'repeated', type: 'string', id: 1 } } },
          },
        },
      },
    },
    containerd: {
      nested: {
        services: {
          nested: {
            containers: {
              nested: {
                v1: {
                  nested: {
                    Containers: {
                      methods: {
                        Get: { requestType: 'GetContainerRequest', responseType: 'GetContainerResponse' },
                        Update: { requestType: 'UpdateContainerRequest', responseType: 'UpdateContainerResponse' },
                      },
                    },
                    // Only the fields used; the others are skipped when decoding and left alone by the mask.
                    Container: { fields: { id: { type: 'string', id: 1 }, spec: { type: 'google.protobuf.Any', id: 5 } } },
                    GetContainerRequest: { fields: { id: { type: 'string', id: 1 } } },
                    GetContainerResponse: { fields: { container: { type: 'Container', id: 1 } } },
                    UpdateContainerRequest: {
                      fields: { container: { type: 'Container', id: 1 }, update_mask: { type: 'google.protobuf.FieldMask', id: 2 } },
                    },
                    UpdateContainerResponse: { fields: { container: { type: 'Container', id: 1 } } },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

interface AnyMessage {
  type_url: string;
  value: Buffer;
}
interface ContainerMessage {
  id: string;
  spec?: AnyMessage;
}
type Unary<Req, Res> = (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => void;
interface ContainersClient extends grpc.Client {
  Get: Unary<{ id: string }, { container?: ContainerMessage }>;
  Update: Unary<{ container: ContainerMessage; update_mask: { paths: string[] } }, { container?: ContainerMessage }>;
}

/** One short-lived channel per edit: edits are rare (only containers with a user) and nothing stays open. */
export class GrpcSpecEditor implements SpecEditor {
  constructor(
    private readonly address: string,
    private readonly namespace: string,
    private readonly clock: Clock = realClock,
    private readonly timeoutMs = 10_000,
  ) {}

  private connect(): ContainersClient {
    const def = protoLoader.fromJSON(DESCRIPTOR as unknown as Parameters<typeof protoLoader.fromJSON>[0], { keepCase: true, defaults: false });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      containerd: { services: { containers: { v1: { Containers: new (target: string, creds: grpc.ChannelCredentials) => ContainersClient } } } };
    };
    return new pkg.containerd.services.containers.v1.Containers(`unix://${this.address}`, grpc.credentials.createInsecure());
  }

  private call<Req, Res>(client: ContainersClient, method: 'Get' | 'Update', req: Req): Promise<Res> {
    const md = new grpc.Metadata();
    md.set('containerd-namespace', this.namespace);
    return new Promise((resolve, reject) => {
      const fn = client[method] as unknown as Unary<Req, Res>;
      fn.call(client, req, md, { deadline: this.clock.now() + this.timeoutMs }, (err, res) => {
        if (err) reject(new BrambleError('RUNTIME_FAILED', `containerd ${SERVICE}.Containers/${method} must succeed: ${err.message}`));
        else resolve(res as Res);
      });
    });
  }

  async editSpec(id: string, edit: (spec: OciSpec) => OciSpec): Promise<void> {
    const client = this.connect();
    try {
      const got = await this.call<{ id: string }, { container?: ContainerMessage }>(client, 'Get', { id });
      const any = got.container?.spec;
      if (!any?.value) throw new BrambleError('RUNTIME_FAILED', `container "${id}" must have an OCI spec to edit: containerd returned none`);
      const spec = edit(JSON.parse(Buffer.from(any.value).toString('utf8')) as OciSpec);
      await this.call(client, 'Update', {
        container: { id, spec: { type_url: any.type_url, value: Buffer.from(JSON.stringify(spec), 'utf8') } },
        update_mask: { paths: ['spec'] },
      });
    } finally {
      client.close();
    }
  }
}
