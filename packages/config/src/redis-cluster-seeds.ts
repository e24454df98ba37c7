/**
 * The seed nodes of a Redis Cluster, from `REDIS_URL` when `REDIS_CLUSTER=true`: one URL or several,
 * comma-separated (`redis://:password@10.0.0.1:6379,redis://:password@10.0.0.2:6379`). A client discovers
 * every other node from any seed that answers. The user, password and TLS (`rediss://`) of the first seed
 * are used for every node, discovered ones included: a cluster has one set of credentials.
 */
export interface ClusterSeeds {
  nodes: Array<{ host: string; port: number }>;
  username?: string;
  password?: string;
  tls: boolean;
  /** What is wrong with the list, each naming the seed by its position (a URL may hold a password). */
  problems: string[];
}

export function parseClusterSeeds(urls: string): ClusterSeeds {
  const seeds: ClusterSeeds = { nodes: [], tls: false, problems: [] };
  const entries = urls.split(',').map((entry) => entry.trim());
  entries.forEach((entry, index) => {
    const which = entries.length === 1 ? 'the cluster seed' : `cluster seed ${index + 1}`;
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      seeds.problems.push(`${which} is not a URL (redis://host:port or rediss://host:port)`);
      return;
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      seeds.problems.push(`${which} must start with redis:// or rediss://`);
      return;
    }
    if (url.hostname === '') {
      seeds.problems.push(`${which} names no host`);
      return;
    }
    if (url.pathname !== '' && url.pathname !== '/' && url.pathname !== '/0') {
      seeds.problems.push(`${which} selects a database; a Redis Cluster has only database 0`);
      return;
    }
    // IPv6 hosts come bracketed from URL; sockets want them bare.
    seeds.nodes.push({ host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || 6379) });
    if (index === 0) {
      seeds.tls = url.protocol === 'rediss:';
      if (url.username) seeds.username = decodeURIComponent(url.username);
      if (url.password) seeds.password = decodeURIComponent(url.password);
    }
  });
  return seeds;
}
